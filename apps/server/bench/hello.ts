// The baseline for cold-start: a bare Express app with one route, bundled the same way as the server.
import express from 'express';

const app = express();
app.get('/health', (_req, res) => {
  res.json({ status: 'ok' });
});
app.listen(Number(process.env.PORT ?? 8787), '127.0.0.1');
