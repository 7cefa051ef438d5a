import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@verifieddit/client';

type Verdict = inferRouterOutputs<AppRouter>['aiDetect']['check'];

export function VerdictView({ verdict }: { verdict: Verdict }) {
  const percent = Math.round(verdict.aiGenerated * 100);
  const likely = verdict.aiGenerated >= 0.5;
  return (
    <div className={`verdict ${likely ? 'ai' : 'human'}`} data-testid="verdict">
      <p className="score">
        <strong>{percent}%</strong> likely AI-generated — {likely ? 'probably made by AI' : 'probably not AI'}
      </p>
      <p className="muted">
        {verdict.cached ? 'cached verdict (no new upstream call)' : 'fresh verdict'} · {verdict.provider} · checked{' '}
        {new Date(verdict.checkedAt).toLocaleString()} · sha256 {verdict.imageSha256.slice(0, 12)}…
      </p>
    </div>
  );
}
