import { z } from 'zod';

export const healthOutputSchema = z.object({
  status: z.literal('ok'),
  version: z.string(),
  uptimeSeconds: z.number().nonnegative(),
});
export type HealthOutput = z.infer<typeof healthOutputSchema>;

export const readinessOutputSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  store: z.enum(['up', 'down']),
});
export type ReadinessOutput = z.infer<typeof readinessOutputSchema>;
