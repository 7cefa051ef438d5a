import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { inferRouterInputs } from '@trpc/server';
import type { AppRouter } from '@verifieddit/client';
import { useVerifieddit } from '@verifieddit/client/react';
import { useState } from 'react';

type ImageType = Extract<inferRouterInputs<AppRouter>['aiDetect']['check'], { mimeType: unknown }>['mimeType'];

export const IMAGE_TYPES: readonly string[] = ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/bmp', 'image/tiff', 'image/avif', 'image/heic'];

/**
 * `aiDetect.check` by upload or by URL. Every check, answered or refused, refreshes the usage meter;
 * a file whose type is not in IMAGE_TYPES is turned away here (`fileProblem`) without a request.
 */
export function useImageCheck() {
  const api = useVerifieddit();
  const queryClient = useQueryClient();
  const [fileProblem, setFileProblem] = useState<string | null>(null);
  const check = useMutation(
    api.aiDetect.check.mutationOptions({
      onSettled: () => queryClient.invalidateQueries({ queryKey: api.aiDetect.usage.queryKey() }),
    }),
  );

  const upload = async (file: File | undefined) => {
    setFileProblem(null);
    if (!file) return;
    if (!IMAGE_TYPES.includes(file.type)) return setFileProblem(`${file.type || 'This file'} is not a supported image type.`);
    check.mutate({ image: await base64Of(file), mimeType: file.type as ImageType });
  };
  const checkUrl = (url: string) => check.mutate({ url });

  return { check, fileProblem, upload, checkUrl };
}

function base64Of(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error ?? new Error('could not read the file'));
    reader.readAsDataURL(file);
  });
}
