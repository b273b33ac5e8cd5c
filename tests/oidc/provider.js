// A real OpenID provider for the tests: panva's oidc-provider (installed by `make install-test`
// into .cache/npm), with one confidential client and the accounts the tests name.
//
//   node tests/oidc/provider.js CONFIG_JSON
//
// CONFIG_JSON: {"port": 0, "issuer": "http://127.0.0.1:PORT", "client_id": ..., "client_secret": ...,
//               "redirect_uris": [...], "accounts": {"SUB": {"email": ..., "email_verified": ..., "name": ...}}}
// Signing in uses the package's own pages (devInteractions): the login is the account's `sub`, any
// password. Consent is granted without asking (a first-party client, as a government ID's would
// be). It prints "listening" once it serves; the fixture polls discovery anyway.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const npmPrefix = process.env.CONSULT_NPM_PREFIX || path.join(here, '..', '..', '.cache', 'npm');
const require = createRequire(path.join(npmPrefix, 'package.json'));
const { default: Provider } = await import(require.resolve('oidc-provider'));

const config = JSON.parse(process.argv[2]);
const accounts = config.accounts;

const provider = new Provider(config.issuer, {
  clients: [
    {
      client_id: config.client_id,
      client_secret: config.client_secret,
      redirect_uris: config.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  async findAccount(ctx, sub) {
    const claims = accounts[sub];
    if (!claims) return undefined;
    return { accountId: sub, async claims() { return { sub, ...claims }; } };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['consult-tests-only'] },
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
