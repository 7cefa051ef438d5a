import { useState } from 'react';
import { IMAGE_TYPES, useImageCheck } from '../hooks/useImageCheck.js';
import { ErrorLine } from './ErrorLine.js';
import { UsageMeter } from './UsageMeter.js';
import { VerdictView } from './VerdictView.js';

// The image fetcher refuses single-label names such as localhost, so the sample is named by address.
const sampleUrl = () => `${window.location.protocol}//127.0.0.1${window.location.port ? `:${window.location.port}` : ''}/sample.png`;

export function DetectCard() {
  const [url, setUrl] = useState('');
  const { check, fileProblem, upload, checkUrl } = useImageCheck();

  return (
    <section className="card" aria-labelledby="detect-title">
      <h2 id="detect-title">AI detection</h2>
      <div className="detect-inputs">
        <label className="file">
          Upload an image
          <input type="file" accept={IMAGE_TYPES.join(',')} onChange={(e) => void upload(e.target.files?.[0])} disabled={check.isPending} />
        </label>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (url) checkUrl(url);
          }}
        >
          <label>
            or check an image URL
            <span className="row">
              <input type="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://…/image.jpg" />
              <button type="submit" disabled={!url || check.isPending}>
                Check
              </button>
            </span>
          </label>
        </form>
      </div>
      <p className="muted">
        Local URLs such as{' '}
        <button className="link" type="button" onClick={() => setUrl(sampleUrl())}>
          this demo's sample image
        </button>{' '}
        are refused unless the server runs with <code>AI_DETECT_FETCH_ALLOW_LOOPBACK=true</code>.
      </p>
      {fileProblem && <p className="error">{fileProblem}</p>}
      {check.isPending && <p className="muted">Checking…</p>}
      {check.isError && <ErrorLine error={check.error} />}
      {check.data && <VerdictView verdict={check.data} />}
      <h3>Usage this month</h3>
      <UsageMeter />
    </section>
  );
}
