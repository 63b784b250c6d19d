/**
 * Secrets (the Discogs token) must never reach logs, tables, error messages or notebook outputs.
 * Everything the CLI prints on failure goes through {@link redactSecrets}.
 */
const SECRET_ENV_VARS = ["DISCOGS_TOKEN"];

/** Secrets learnt at run time (a Redis URL's password): redacted everywhere from then on. */
const RUNTIME_SECRETS = new Set<string>();

/**
 * Treat `value` as a secret for the rest of the process: every line that goes through
 * {@link redactSecrets} (CLI logs, errors, JSON output) shows `***` instead.
 */
export function registerSecret(value: string | undefined | null): void {
  if (value) RUNTIME_SECRETS.add(value);
}

/** Replace every known secret value (from the environment, registered ones, plus `extra`) with `***`. */
export function redactSecrets(text: string, extra: string[] = [], env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  const secrets = [...SECRET_ENV_VARS.map((k) => env[k]), ...RUNTIME_SECRETS, ...extra].filter(
    (s): s is string => typeof s === "string" && s.length >= 4,
  );
  for (const secret of secrets) out = out.split(secret).join("***");
  // A token in an Authorization header or a token= query parameter, even if not from our env.
  out = out.replace(/(Discogs token=)[^\s"',&]+/g, "$1***").replace(/([?&]token=)[^\s"'&]+/g, "$1***");
  return out;
}
