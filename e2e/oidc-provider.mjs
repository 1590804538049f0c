// A certified OpenID Provider on loopback for the browser tests of MyAgency's sign-in (issue 21, item 6): npm's
// `oidc-provider` (9.x), with its development sign-in form (any login, any password). It stands in for Login.gov,
// which lives outside this machine.
//
//   node e2e/oidc-provider.mjs PORT REDIRECT_URI PUBLIC_JWK_FILE
//
// prints one line of JSON, {"issuer": ...}, when it listens on 127.0.0.1:PORT. With `generate` for PUBLIC_JWK_FILE it
// makes an RSA key pair for this run and prints its private key too, {"issuer": ..., "private_key_pem": ...} (the
// Rust tests use that). Three clients, each allowed to send the
// person back to REDIRECT_URI, each needing PKCE (S256):
//
// - `heard-pkce`: no client authentication (`none`), as Login.gov's PKCE option;
// - `heard-secret`: `client_secret_basic` with the secret `heard-test-secret-0123456789abcdef`;
// - `heard-jwt`: `private_key_jwt` (RFC 7523), its public key the JWK in PUBLIC_JWK_FILE, as Login.gov's default.
//
// The account signed in is the login typed: an email address is returned as a verified `email`; a login of the form
// `unverified:ADDRESS` as an unverified one; `phone:+1...` as a verified `phone_number` and no email.
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const [port, redirectUri, jwkFile] = process.argv.slice(2);
if (!port || !redirectUri || !jwkFile) {
  console.error("usage: node e2e/oidc-provider.mjs PORT REDIRECT_URI PUBLIC_JWK_FILE");
  process.exit(2);
}
let publicJwk;
let privatePem;
if (jwkFile === "generate") {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  publicJwk = { ...publicKey.export({ format: "jwk" }), kid: "heard-test", alg: "RS256", use: "sig" };
  privatePem = privateKey.export({ format: "pem", type: "pkcs8" });
} else {
  publicJwk = JSON.parse(readFileSync(jwkFile, "utf8"));
}
const issuer = `http://127.0.0.1:${port}`;
const common = { redirect_uris: [redirectUri], grant_types: ["authorization_code"], response_types: ["code"] };

/** The claims of the account a login names. */
function claimsOf(login) {
  if (login.startsWith("unverified:")) return { email: login.slice("unverified:".length), email_verified: false };
  if (login.startsWith("phone:")) return { phone_number: login.slice("phone:".length), phone_number_verified: true };
  return { email: login, email_verified: true };
}

const provider = new Provider(issuer, {
  clients: [
    { ...common, client_id: "heard-pkce", token_endpoint_auth_method: "none" },
    { ...common, client_id: "heard-secret", client_secret: "heard-test-secret-0123456789abcdef", token_endpoint_auth_method: "client_secret_basic" },
    { ...common, client_id: "heard-jwt", token_endpoint_auth_method: "private_key_jwt", token_endpoint_auth_signing_alg: "RS256", jwks: { keys: [publicJwk] } },
  ],
  pkce: { required: () => true },
  claims: { openid: ["sub"], email: ["email", "email_verified"], phone: ["phone_number", "phone_number_verified"] },
  findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, ...claimsOf(id) }) }),
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["heard-e2e-only-cookie-key"] },
});
// Not a production provider: keep its development warnings out of the test's output.
provider.on("server_error", (_ctx, err) => console.error("oidc-provider:", err));

provider.listen(Number(port), "127.0.0.1", () => {
  console.log(JSON.stringify(privatePem ? { issuer, private_key_pem: privatePem } : { issuer }));
});
