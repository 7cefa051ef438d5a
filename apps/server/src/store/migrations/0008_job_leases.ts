import type { Migration } from '../migrations.js';

export const jobLeases: Migration = {
  id: '0008_job_leases',
  formerId: '0012_job_leases',
  sql: `
      -- Periodic jobs that must run on one replica at a time, once per interval (reconcile + catch-up).
      CREATE TABLE job_leases (
        name text PRIMARY KEY,
        holder text NOT NULL,
        locked_until timestamptz NOT NULL,
        last_run_at timestamptz NOT NULL DEFAULT now(),
        last_success_at timestamptz
      );
    `,
};
