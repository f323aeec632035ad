// zod issues as one line for an error answer: "params.gpu: expected string; ...".
import type { z } from 'zod';

export function describeIssues(error: z.ZodError, root: string): string {
  const shown = error.issues.slice(0, 5).map((i) => `${[root, ...i.path].join('.')}: ${i.message}`);
  if (error.issues.length > shown.length) shown.push(`and ${error.issues.length - shown.length} more`);
  return shown.join('; ');
}
