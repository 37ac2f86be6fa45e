// A real OpenID Connect provider for the tests of readers' log-in: panva's oidc-provider, one
// confidential client and made-up accounts, with a log-in form of its own that accepts any name and
// password and loads nothing from elsewhere (the library's development form imports a web font).
// Configured by the environment:
//   OIDC_PORT           port on 127.0.0.1 (required)
//   OIDC_REDIRECT_URIS  the client's redirect URIs, separated by spaces (required)
//   OIDC_CLIENT_ID      default "rejoinder-test"
//   OIDC_CLIENT_SECRET  default "rejoinder-test-secret"
//   OIDC_COOP           a Cross-Origin-Opener-Policy for every answer (e.g. "same-origin", as some
//                       providers send: a browser then cuts a popup showing them off from its opener)
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
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['rejoinder-test-cookie-key'] },
};

const provider = new Provider(issuer, configuration);

const openerPolicy = process.env.OIDC_COOP || '';
if (openerPolicy) {
  provider.use(async (ctx, next) => {
    await next();
    ctx.set('Cross-Origin-Opener-Policy', openerPolicy);
  });
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// The log-in form: GET /interaction/UID shows it, POST /interaction/UID/login logs in as the name given.
provider.use(async (ctx, next) => {
  const found = ctx.path.match(/^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/);
  if (!found) {
    return next();
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  ctx.set('Cache-Control', 'no-store');
  if (ctx.method === 'GET' && !found[2]) {
    const uid = escapeHtml(details.uid);
    ctx.type = 'html';
    ctx.body = `<!doctype html>
<html><head><meta charset="utf-8"><title>Sign-in</title></head>
<body><h1>Test provider</h1>
<form autocomplete="off" action="/interaction/${uid}/login" method="post">
<input type="hidden" name="prompt" value="login">
<label>Login <input required type="text" name="login" autofocus></label>
<label>Password <input required type="password" name="password"></label>
<button type="submit" class="login login-submit">Sign-in</button>
</form></body></html>`;
    return undefined;
  }
  if (ctx.method === 'POST' && found[2]) {
    const form = await readForm(ctx.req);
    const login = (form.get('login') || '').trim();
    if (!login) {
      ctx.status = 400;
      ctx.body = 'login is required';
      return undefined;
    }
    const redirectTo = await provider.interactionResult(
      ctx.req, ctx.res, { login: { accountId: login } }, { mergeWithLastSubmission: false },
    );
    ctx.status = 303;
    ctx.redirect(redirectTo);
    return undefined;
  }
  return next();
});
provider.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
