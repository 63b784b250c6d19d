/**
 * Secrets (the Discogs token) must never reach logs, tables, error messages or notebook outputs.
 * Everything the CLI prints on failure goes through {@link redactSecrets}.
 */
const SECRET_ENV_VARS = ["DISCOGS_TOKEN"];

/** Replace every known secret value (from the environment, plus `extra`) with `***`. */
export function redactSecrets(text: string, extra: string[] = [], env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  const secrets = [...SECRET_ENV_VARS.map((k) => env[k]), ...extra].filter(
    (s): s is string => typeof s === "string" && s.length >= 4,
  );
  for (const secret of secrets) out = out.split(secret).join("***");
  // A token in an Authorization header or a token= query parameter, even if not from our env.
  out = out.replace(/(Discogs token=)[^\s"',&]+/g, "$1***").replace(/([?&]token=)[^\s"'&]+/g, "$1***");
  return out;
}
