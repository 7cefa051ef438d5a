import { useMutation } from '@tanstack/react-query';
import { useVerifieddit } from '@verifieddit/client/react';

/** Opens the billing provider's Portal in this tab; it sends the browser back to the demo. */
export function usePortalSession() {
  const api = useVerifieddit();
  return useMutation(api.billing.createPortalSession.mutationOptions({ onSuccess: ({ url }) => window.location.assign(url) }));
}
