import { Agent, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
}

/**
 * One HTTP request with nothing normalised: any method (TRACE), any path bytes (bad escapes), any
 * headers and body. `fetch` refuses or rewrites most of these, which is why hostile tests use this.
 */
export function rawRequest(
  baseUrl: string,
  options: { method?: string; path: string; headers?: OutgoingHttpHeaders; body?: Buffer | string; agent?: Agent | false },
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method: options.method ?? 'GET', path: options.path, headers: options.headers ?? {}, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Streams up to `totalBytes` to the server in chunks and stops as soon as an answer arrives. Returns
 * the answer and how many bytes had been written by then: a server that refuses early answers after
 * a small fraction, one that buffers answers only after everything.
 */
export function streamUntilAnswered(
  baseUrl: string,
  options: { method?: string; path: string; headers: OutgoingHttpHeaders; totalBytes: number; chunk?: Buffer },
): Promise<RawResponse & { bytesWritten: number; connectionClosed: boolean }> {
  const url = new URL(baseUrl);
  const chunk = options.chunk ?? Buffer.alloc(64 * 1024, 'a');
  return new Promise((resolve, reject) => {
    let bytesWritten = 0;
    let answered = false;
    const req = request({ host: url.hostname, port: url.port, method: options.method ?? 'POST', path: options.path, headers: options.headers, agent: false }, (res) => {
      answered = true;
      const written = bytesWritten;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const done = (connectionClosed: boolean) => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, bytesWritten: written, connectionClosed });
      };
      res.on('end', () => {
        // The server closing the socket after its answer is what stops a client still uploading.
        const socket = req.socket;
        if (!socket || socket.destroyed) return done(true);
        const timer = setTimeout(() => done(false), 1_000);
        socket.once('close', () => {
          clearTimeout(timer);
          done(true);
        });
      });
    });
    // Writes after the server closed the socket fail; the answer is what the test is about.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const pump = () => {
      while (!answered && bytesWritten < options.totalBytes) {
        bytesWritten += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}
