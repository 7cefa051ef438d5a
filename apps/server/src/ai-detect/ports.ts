import type { AiDetectCheckInput, AiDetectCheckOutput, AiDetectUsageOutput } from '@verifieddit/contracts';

/** The AI-detection domain's ports: the detector it calls, and the service procedures call. */

/** A verdict from one detector call. */
export interface DetectionVerdict {
  /** 0..1: how likely the image is AI-generated. */
  aiGenerated: number;
  /** Per-generator scores when the provider gives them. */
  generators?: Record<string, number>;
  provider: 'sightengine' | 'local';
  /** ISO 8601. */
  checkedAt: string;
  /** Upstream operations this call cost (0 for the local detector). */
  operations: number;
}

/** The detection port: bytes in, verdict out, or an AppError with a contract code. */
export interface Detector {
  readonly provider: 'sightengine' | 'local';
  detect(bytes: Uint8Array, mimeType: string): Promise<DetectionVerdict>;
}

/** The detection service as procedures and operators use it. */
export interface AiDetection {
  check(input: { userId: string; requestId: string; input: AiDetectCheckInput }): Promise<AiDetectCheckOutput>;
  usage(userId: string): Promise<AiDetectUsageOutput>;
  /** Our own counters for this month (for `pnpm billing sightengine usage`). */
  budget(): Promise<{ period: string; used: number; budget: number }>;
}

export interface AiDetectionSettings {
  monthlyBudget: number;
  cacheTtlSeconds: number | undefined;
  ratePerMinute: number;
  rateBurst: number;
  fetchAllowLoopback: boolean;
}
