import { getErrorCode, getRequestId } from '@verifieddit/client';

export function ErrorLine({ error }: { error: unknown }) {
  const code = getErrorCode(error);
  const requestId = getRequestId(error);
  const message = error instanceof Error ? error.message : String(error);
  return (
    <p className="error" role="alert">
      {code && <code>{code}</code>} {message}
      {requestId && <span className="muted"> (request {requestId})</span>}
    </p>
  );
}
