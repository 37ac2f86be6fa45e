// A real OpenID Connect provider for the tests of readers' log-in: panva's oidc-provider with its
// development interactions (a log-in form that accepts any name and password), one confidential client
// and made-up accounts. Configured by the environment:
//   OIDC_PORT           port on 127.0.0.1 (required)
//   OIDC_REDIRECT_URIS  the client's redirect URIs, separated by spaces (required)
//   OIDC_CLIENT_ID      default "rejoinder-test"
//   OIDC_CLIENT_SECRET  default "rejoinder-test-secret"
// It prints "listening <issuer>" once it accepts connections.
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const redirectUris = (process.env.OIDC_REDIRECT_URIS || '').split(/\s+/).filter(Boolean);
if (!port || redirectUris.length === 0) {
  console.error('OIDC_PORT and OIDC_REDIRECT_URIS are required');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

// Every log-in name is an account: "ada" logs in as Ada, with a verified address ada@example.org.
async function findAccount(ctx, sub) {
  const name = sub.charAt(0).toUpperCase() + sub.slice(1);
  return {
    accountId: sub,
    async claims() {
      return {
        sub,
        name,
        preferred_username: sub,
        email: `${sub}@example.org`,
        email_verified: true,
        profile: `https://people.example.org/${encodeURIComponent(sub)}`,
        picture: `https://people.example.org/${encodeURIComponent(sub)}.png`,
      };
    },
  };
}

const configuration = {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID || 'rejoinder-test',
    client_secret: process.env.OIDC_CLIENT_SECRET || 'rejoinder-test-secret',
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'profile', 'picture'],
    email: ['email', 'email_verified'],
  },
  findAccount,
  // The test user consents once and for all: only the log-in form is shown.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email');
    await grant.save();
    return grant;
  },
  pkce: { required: () => false },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['rejoinder-test-cookie-key'] },
};

const provider = new Provider(issuer, configuration);
provider.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
