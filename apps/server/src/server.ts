import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ErrorBody, ErrorCode } from '@verifieddit/contracts/error-codes';
import type { Express } from 'express';
import { AppError } from './errors.js';
import { newRequestId } from './http/request-context.js';

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then resolves. */
  shutdown(graceMs?: number): Promise<void>;
}

export interface ListenOptions {
  /** The request line and headers must arrive within this (default 10 s). */
  headersTimeoutMs?: number;
  /** The whole request, body included, must arrive within this (default 60 s: a 14 MB upload at 2 Mbit/s). */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this (default 5 s). */
  keepAliveTimeoutMs?: number;
}

const DEFAULT_LISTEN_OPTIONS = { headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000 } satisfies Required<ListenOptions>;

/** What Node's HTTP parser refuses before Express sees a request, as contract codes. */
function clientErrorCode(error: NodeJS.ErrnoException): ErrorCode {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'REQUEST_TIMEOUT';
    case 'HPE_HEADER_OVERFLOW':
      return 'HEADERS_TOO_LARGE';
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 'PAYLOAD_TOO_LARGE';
    default:
      return 'BAD_REQUEST';
  }
}

const CLIENT_ERROR_MESSAGES: Partial<Record<ErrorCode, string>> = {
  REQUEST_TIMEOUT: 'The request did not arrive in time',
  HEADERS_TOO_LARGE: 'The request headers are too large',
  PAYLOAD_TOO_LARGE: 'The request body is malformed or too large',
  BAD_REQUEST: 'The request is not valid HTTP',
};

/**
 * Node answers malformed requests, oversized headers and timeouts itself with a bare status line; this
 * answers them in the documented error shape instead, with a fresh request id, then closes.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // Node's own rule: answer only if no response to this socket has started (a keep-alive socket may
  // carry one in progress; `_httpMessage` is the response Node tracks for it).
  const inProgress = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inProgress?.headersSent) return void socket.destroy();
  const code = clientErrorCode(error);
  const app = new AppError(code, CLIENT_ERROR_MESSAGES[code] ?? 'Bad request');
  const requestId = newRequestId();
  const body: ErrorBody = { error: { code, message: app.message, requestId } };
  const json = JSON.stringify(body);
  const reason = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' }[app.httpStatus] ?? 'Bad Request';
  socket.end(
    `HTTP/1.1 ${app.httpStatus} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(json)}\r\n` +
      `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${json}`,
  );
}

export async function listen(app: Express, port: number, host = '0.0.0.0', options: ListenOptions = {}): Promise<RunningServer> {
  const o = { ...DEFAULT_LISTEN_OPTIONS, ...options };
  // Slow clients cannot hold a connection: the headers and then the whole request have deadlines,
  // checked every second (Node's default check runs every 30 s, which would stretch them).
  const server = createServer(
    {
      headersTimeout: o.headersTimeoutMs,
      requestTimeout: o.requestTimeoutMs,
      keepAliveTimeout: o.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, o.headersTimeoutMs),
    },
    app,
  );
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;
  return {
    server,
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    shutdown(graceMs = 10_000) {
      stopping ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        // Keep-alive sockets would hold shutdown open until the client hangs up or their keep-alive
        // times out: idle ones are closed now, and a busy one as soon as its answer is out.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        sweep.unref();
        server.close(() => {
          clearTimeout(force);
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      });
      return stopping;
    },
  };
}
