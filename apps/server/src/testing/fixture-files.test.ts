import { describe, expect, it, vi } from 'vitest';
import { readFixture } from './fixture-files.js';
import { startSightengineDouble, type FixtureName } from './sightengine-double.js';

describe('test fixtures', () => {
  it('are read from inside the repository', () => {
    expect(readFixture<{ type: string }>('stripe/event.checkout.session.completed.json').type).toBe('checkout.session.completed');
    expect(readFixture<{ status: string }>('sightengine/check-genai-success.json').status).toBe('success');
  });

  it('name the missing file and where fixtures live when one cannot be read', () => {
    expect(() => readFixture('sightengine/missing.json')).toThrow(/test fixture sightengine\/missing\.json cannot be read at .*testing\/fixtures\/sightengine\/missing\.json.*apps\/server\/src\/testing\/fixtures/);
  });

  it('a Sightengine double whose handler fails answers 500 at once instead of hanging the request', async () => {
    const double = await startSightengineDouble();
    const reported = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      double.script({ fixture: 'not-a-fixture' as FixtureName });
      const form = new FormData();
      form.set('media', new Blob([new Uint8Array([1, 2, 3])], { type: 'image/png' }), 'a.png');
      form.set('models', 'genai');
      form.set('api_user', double.apiUser);
      form.set('api_secret', double.apiSecret);
      const res = await fetch(`${double.baseUrl}/1.0/check.json`, { method: 'POST', body: form, signal: AbortSignal.timeout(5000) });
      expect(res.status).toBe(500);
      expect(JSON.stringify(await res.json())).toContain('not-a-fixture.json cannot be read');
      expect(reported).toHaveBeenCalledWith('sightengine double: handler failed', expect.any(Error));
    } finally {
      reported.mockRestore();
      await double.close();
    }
  });
});
