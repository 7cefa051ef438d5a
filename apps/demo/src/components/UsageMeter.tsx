import { useQuery } from '@tanstack/react-query';
import { useVerifieddit } from '@verifieddit/client/react';
import { ErrorLine } from './ErrorLine.js';

/** This month's detections against the plan's quota, and the short-term rate limit. */
export function UsageMeter() {
  const api = useVerifieddit();
  const usage = useQuery(api.aiDetect.usage.queryOptions());
  return (
    <>
      {usage.isError && <ErrorLine error={usage.error} />}
      {usage.data && (
        <div className="meter" data-testid="usage">
          <progress max={Math.max(usage.data.limit, 1)} value={Math.min(usage.data.used, usage.data.limit)} aria-label="detections used" />
          <p className="muted">
            {usage.data.used} of {usage.data.limit} detections used · resets {new Date(usage.data.resetsAt).toLocaleDateString()} ·{' '}
            {usage.data.rateLimit.remaining} of {usage.data.rateLimit.limit} requests left right now
          </p>
        </div>
      )}
    </>
  );
}
