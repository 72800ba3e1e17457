import type { ServerResponse } from 'node:http';

/** What a handler wrote: status, headers and body (for unit tests; the build leaves `*.fixture.ts` out). */
export class FakeResponse {
  status = 0;
  headers: Record<string, string> = {};
  body = '';
  headersSent = false;
  ended = false;
  writeHead(status: number, headers: Record<string, string>): this {
    this.status = status;
    this.headers = headers;
    this.headersSent = true;
    return this;
  }
  end(body?: string | Buffer): void {
    this.body = body === undefined ? '' : body.toString();
    this.ended = true;
  }
  get res(): ServerResponse {
    return this as unknown as ServerResponse;
  }
}
