import type { Migration } from '../migrations.js';

export const catalog: Migration = {
  id: '0002_catalog',
  formerId: '0004_catalog',
  sql: `
      CREATE TABLE catalogs (
        version bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        catalog jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `,
};
