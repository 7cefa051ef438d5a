import { ERROR_HTTP_STATUS, isErrorCode, type ErrorCode, type TrpcErrorEnvelope } from '@verifieddit/contracts';

/** tRPC's JSON-RPC error numbers by HTTP status (what the server itself sends under /trpc). */
const JSON_RPC_CODE_OF_STATUS: Record<number, number> = {
  400: -32600,
  401: -32001,
  403: -32003,
  404: -32004,
  405: -32005,
  408: -32008,
  409: -32009,
  413: -32013,
  415: -32015,
  422: -32022,
  429: -32029,
  500: -32603,
  502: -32603,
  503: -32603,
  504: -32603,
};

/** The contract code for an answer that did not come from the API (a proxy's page, a wrong URL). */
function codeForStatus(status: number): ErrorCode {
  if (status === 502 || status === 503 || status === 504) return 'NOT_READY';
  if (status === 429) return 'RATE_LIMITED';
  if (status >= 500) return 'INTERNAL';
  const exact = (Object.keys(ERROR_HTTP_STATUS) as ErrorCode[]).find((code) => ERROR_HTTP_STATUS[code] === status);
  return exact ?? (status >= 400 ? 'BAD_REQUEST' : 'NOT_FOUND');
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Something tRPC's client can read: a result or error envelope, or an array of them (a batch). */
function isTrpcAnswer(json: unknown): boolean {
  const one = (item: unknown) => isObject(item) && ('result' in item || (isObject(item.error) && typeof item.error.code === 'number'));
  return Array.isArray(json) ? json.length > 0 && json.every(one) : one(json);
}

function retryAfterOf(response: Response): number | null {
  const header = response.headers.get('retry-after');
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds;
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : null;
}

function envelope(status: number, code: ErrorCode, message: string, requestId: string, retryAfterSeconds: number | null, details: Record<string, unknown> | null): TrpcErrorEnvelope {
  const issues = Array.isArray(details?.issues) ? (details.issues as TrpcErrorEnvelope['error']['data']['issues']) : null;
  return {
    error: {
      message,
      code: JSON_RPC_CODE_OF_STATUS[status] ?? (status >= 500 ? -32603 : -32600),
      data: { code, httpStatus: status, requestId, retryAfterSeconds, details, issues, path: null },
    },
  };
}

/**
 * Wraps `fetch` so every answer reaches tRPC's client in a form it can read. The API itself answers
 * tRPC's envelope under /trpc; this covers what answers in its place: the REST error shape (a wrong
 * base URL lands on the API's 404), and proxies or load balancers with an HTML 502/503/504 page. Each
 * becomes a tRPC error with a contract code, so `getErrorCode` works instead of "Unable to transform
 * response from server".
 */
export function readableResponses(fetchImpl: typeof globalThis.fetch): typeof globalThis.fetch {
  return async (input, init) => {
    const response = await fetchImpl(input, init);
    const type = response.headers.get('content-type') ?? '';
    if (response.ok && type.includes('json')) return response;
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const headers = new Headers(response.headers);
    headers.set('content-type', 'application/json');
    headers.delete('content-length');
    headers.delete('content-encoding');
    const answer = (body: unknown, status = response.status) => new Response(JSON.stringify(body), { status, statusText: response.statusText, headers });
    if (json !== undefined && isTrpcAnswer(json)) return answer(json);

    const requestId = response.headers.get('x-request-id') ?? '';
    const retryAfter = retryAfterOf(response);
    // The API's REST error shape: the same code, message and request id.
    if (isObject(json) && isObject(json.error) && isErrorCode(json.error.code) && typeof json.error.message === 'string') {
      const status = response.ok ? ERROR_HTTP_STATUS[json.error.code] : response.status;
      const details = isObject(json.error.details) ? json.error.details : null;
      return answer(envelope(status, json.error.code, json.error.message, typeof json.error.requestId === 'string' ? json.error.requestId : requestId, retryAfter, details), status);
    }
    // Not the API at all.
    const status = response.ok ? 404 : response.status;
    const what = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    const message = response.ok
      ? `The server at this URL is not the verifieddit API (it answered ${what} with ${type || 'no content type'}); check the client's url`
      : `The server answered ${what} with ${type || 'no content type'} instead of an API answer; check the client's url, or retry if a proxy in between is failing`;
    return answer(envelope(status, codeForStatus(status), message, requestId, retryAfter, null), status);
  };
}
