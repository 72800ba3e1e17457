/**
 * Runs async sections one at a time, in call order. The view repair must not read a diff while
 * this aggregator's own insert into workflow_changes is between its source part and its view
 * parts; the change inserts and the repair share one of these.
 */
export class Serial {
  private tail: Promise<void> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section, section);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
