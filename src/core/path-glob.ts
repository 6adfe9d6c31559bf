/**
 * The small glob Vault uses for a backend's special paths: an exact path, or
 * a prefix when the pattern ends in `*`.
 */
export function matchesAny(path: string, patterns: readonly string[] | undefined): boolean {
  if (!patterns) return false;
  for (const pattern of patterns) {
    if (pattern.endsWith('*')) {
      if (path.startsWith(pattern.slice(0, -1))) return true;
    } else if (path === pattern || path === `${pattern}/`) {
      return true;
    }
  }
  return false;
}
