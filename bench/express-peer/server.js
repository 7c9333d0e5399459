// The plain Node stack Switchboard's webhook intake is measured against (tests/src/bin/
// bench-intake.rs starts it): verify the ElevenLabs signature over the raw body, insert the
// event into an inbox that drops duplicates, add a BullMQ job for a new one, answer 200.
// What it does not do, and Switchboard must: keep the job when the queue add fails after the
// insert (nothing here re-rings it), stream large bodies, or answer 503 for a database outage.
'use strict';

const crypto = require('node:crypto');
const express = require('express');
const { Pool } = require('pg');
const { Queue } = require('bullmq');

const port = Number(process.env.PORT || 3999);
const secret = process.env.ELEVENLABS_WEBHOOK_SECRET;
const redis = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
if (!secret || !process.env.DATABASE_URL) {
  console.error('DATABASE_URL and ELEVENLABS_WEBHOOK_SECRET are required');
  process.exit(2);
}

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.PG_POOL || 16) });
const queue = new Queue('express-peer-post-call', {
  connection: { host: redis.hostname, port: Number(redis.port || 6379) },
});

// Signed as `t=<unix secs>,v0=<hex HMAC-SHA256 of "<t>.<body>">`, at most 30 minutes old.
function verified(header, body) {
  const parts = Object.fromEntries((header || '').split(',').map((p) => p.split('=', 2)));
  const t = Number(parts.t);
  if (!t || !parts.v0 || Math.abs(Date.now() / 1000 - t) > 1800) return false;
  const expected = crypto.createHmac('sha256', secret).update(`${parts.t}.`).update(body).digest();
  const given = Buffer.from(parts.v0, 'hex');
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

const app = express();
app.disable('x-powered-by');
app.post('/webhooks/elevenlabs', express.raw({ type: '*/*', limit: '20mb' }), async (req, res) => {
  if (!verified(req.get('ElevenLabs-Signature'), req.body)) {
    return res.status(401).json({ error: 'invalid_signature' });
  }
  let event;
  try {
    event = JSON.parse(req.body);
  } catch {
    return res.status(400).json({ error: 'invalid_event' });
  }
  const key = `${event.type}:${event.data && event.data.conversation_id}`;
  try {
    const inserted = await pool.query(
      'INSERT INTO express_peer_inbox (id, external_id, event_type, payload) VALUES ($1, $2, $3, $4) ' +
        'ON CONFLICT (external_id) DO NOTHING RETURNING id',
      [crypto.randomUUID(), key, String(event.type).slice(0, 120), req.body],
    );
    if (inserted.rowCount === 1) {
      await queue.add('post-call', { id: inserted.rows[0].id }, { removeOnComplete: true, removeOnFail: 1000 });
    }
    res.json({ received: true, new: inserted.rowCount === 1 });
  } catch (e) {
    res.status(503).json({ error: 'unavailable', message: e.message });
  }
});

pool
  .query(
    'CREATE TABLE IF NOT EXISTS express_peer_inbox (id uuid PRIMARY KEY, external_id text NOT NULL UNIQUE, ' +
      'event_type text NOT NULL, payload bytea NOT NULL, received_at timestamptz NOT NULL DEFAULT now())',
  )
  .then(() => app.listen(port, '127.0.0.1', () => console.log(`express peer on ${port}`)))
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
