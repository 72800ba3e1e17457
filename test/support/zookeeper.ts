import { connect } from 'node:net';

/** ZooKeeper's `ruok` four-letter word: true once it serves, undefined before. */
export function zookeeperOk(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.end('ruok'));
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('close', () => resolve(got === 'imok' ? true : undefined));
    s.on('error', () => resolve(undefined));
  });
}
