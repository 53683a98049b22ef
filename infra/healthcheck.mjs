#!/usr/bin/env node
// The image's HEALTHCHECK (no curl in the image): exits 0 when this container's process answers
// GET /healthz with 200, on the API's port (DEVHOOKS_PORT, default 8080) or on a worker's probe port
// (DEVHOOKS_WORKER_PORT, 9464 in the image), else 1. Either role passes on its own port.
const ports = [process.env.DEVHOOKS_PORT || '8080', process.env.DEVHOOKS_WORKER_PORT || '9464'];

async function healthy(port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

const results = await Promise.all(ports.map(healthy));
process.exit(results.some(Boolean) ? 0 : 1);
