import { describe, expect, it } from 'vitest';
import { wire } from '../bootstrap.js';
import { loadConfig } from '../config.js';
import { captureLogger } from '../testing/harness.js';
import { useTestStore } from '../testing/fixtures.js';
import { pngVariant, sha256Hex } from '../testing/images.js';
import { storeTargets } from '../testing/stores.js';

/** The forms an uploaded image may take: each decodes to the same bytes; anything else is refused. */
describe('aiDetect.check upload decoding', () => {
  const t = useTestStore(storeTargets[0]!);
  const image = pngVariant('upload-forms-1');
  const standard = image.toString('base64');
  // Its length leaves one padding character, so the cases below exercise padding.
  it('the image’s encoding ends in padding', () => expect(standard).toMatch(/[^=]=$/));
  const check = (encoded: string) => {
    const config = loadConfig({ NODE_ENV: 'test', AI_DETECT_RATE_BURST: '100' });
    const { aiDetect } = wire(config, t.store, captureLogger().logger);
    return aiDetect.check({ userId: 'upload_forms', requestId: 'r', input: { image: encoded, mimeType: 'image/png' } });
  };

  it.each([
    ['standard', standard],
    ['URL-safe', image.toString('base64url')],
    ['a data: URL', `data:image/png;base64,${standard}`],
    ['wrapped at 76 columns (MIME)', standard.replace(/.{76}/g, '$&\r\n')],
    ['padding followed by a newline', `${standard}\n`],
  ])('accepts %s', async (_, encoded) => {
    await expect(check(encoded)).resolves.toMatchObject({ imageSha256: sha256Hex(image) });
  });

  it.each([
    ['characters outside base64', `${standard.slice(0, 20)}*${standard.slice(20)}`],
    ['padding in the middle', `${standard.slice(0, 20)}=${standard.slice(20)}`],
    ['a data: URL that is not base64', `data:image/png,${standard}`],
    ['three padding characters', `${standard}==`],
  ])('refuses %s as VALIDATION_FAILED', async (_, encoded) => {
    await expect(check(encoded)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('refuses nothing but whitespace as an empty image', async () => {
    await expect(check(' \n ')).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: 'image is empty' });
  });
});
