// The sample's page: plain DOM + fetch, no build step. It never reads or stores the session
// token: the browser keeps it in an HttpOnly cookie and sends it with `credentials: 'include'`.
'use strict';

const ROTATED_HEADER = 'x-token-rotated';
let rotations = 0;

const $ = (id) => document.getElementById(id);

/** Calls the sample API; counts responses where the server says it rotated the token. */
async function api(method, path, body) {
  const init = { method, credentials: 'include', headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.headers.get(ROTATED_HEADER) === '1') {
    rotations += 1;
    $('rotations').textContent = String(rotations);
  }
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  return { status: res.status, ok: res.ok, data };
}

function say(text, isError = false) {
  const el = $('message');
  el.textContent = text;
  el.classList.toggle('error', isError);
}

function errorText(result) {
  const m = result.data && result.data.message;
  return Array.isArray(m) ? m.join('; ') : m || `HTTP ${result.status}`;
}

function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

function time(ms) {
  return new Date(ms).toLocaleString();
}

/** A short device name from a user agent string (the full string is in the tooltip). */
function deviceName(userAgent) {
  if (!userAgent) return 'Unknown device';
  const browser = /Edg\//.test(userAgent)
    ? 'Edge'
    : /Chrom(e|ium)\//.test(userAgent)
      ? /HeadlessChrome/.test(userAgent)
        ? 'Headless Chrome'
        : 'Chrome'
      : /Firefox\//.test(userAgent)
        ? 'Firefox'
        : /Safari\//.test(userAgent)
          ? 'Safari'
          : /curl\//.test(userAgent)
            ? 'curl'
            : 'Browser';
  const os = /Windows/.test(userAgent)
    ? 'Windows'
    : /Mac OS X/.test(userAgent)
      ? 'macOS'
      : /Android/.test(userAgent)
        ? 'Android'
        : /iPhone|iPad/.test(userAgent)
          ? 'iOS'
          : /Linux/.test(userAgent)
            ? 'Linux'
            : '';
  return os ? `${browser} on ${os}` : browser;
}

function showSignedOut() {
  $('signed-out').hidden = false;
  $('signed-in').hidden = true;
  const who = $('who');
  who.textContent = 'Signed out';
  who.className = 'pill pill-out';
}

function showSignedIn(me) {
  $('signed-out').hidden = true;
  $('signed-in').hidden = false;
  $('otp-form').hidden = true;
  const who = $('who');
  who.textContent = `Signed in as ${me.user.email}`;
  who.className = 'pill pill-in';
  $('me-name').textContent = me.user.name;
  $('me-email').textContent = me.user.email;
  $('me-login').textContent = me.session && me.session.loginAt ? time(me.session.loginAt) : '';
}

function renderDevices(devices) {
  const body = $('devices');
  body.replaceChildren();
  for (const d of devices) {
    const row = document.createElement('tr');
    row.dataset.sessionId = d.id;
    const cells = [deviceName(d.userAgent) + (d.deviceBound ? ' (device-bound)' : ''), d.ip || '', time(d.createdAt), time(d.lastSeenAt)];
    cells.forEach((text, i) => {
      const td = document.createElement('td');
      td.textContent = text;
      if (i === 0 && d.userAgent) td.title = d.userAgent;
      row.append(td);
    });
    const action = document.createElement('td');
    if (d.current) {
      action.textContent = 'this device';
      action.className = 'this-device';
    } else {
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'revoke';
      btn.textContent = 'Revoke';
      btn.addEventListener(
        'click',
        handler(() => revokeDevice(d.id)),
      );
      action.append(btn);
    }
    row.append(action);
    body.append(row);
  }
}

/** Loads /api/me and the device list; shows the signed-out forms on 401. */
async function refresh() {
  const me = await api('GET', '/api/me');
  if (me.status === 401) {
    showSignedOut();
    return false;
  }
  if (!me.ok) {
    say(errorText(me), true);
    return false;
  }
  showSignedIn(me.data);
  const devices = await api('GET', '/api/devices');
  if (devices.ok) renderDevices(devices.data.devices);
  return true;
}

async function revokeDevice(id) {
  const r = await api('DELETE', `/api/devices/${encodeURIComponent(id)}`);
  say(r.ok ? 'Device signed out.' : errorText(r), !r.ok);
  await refresh();
}

/**
 * Changes the e-mail address. A sign-in too old for this step (401 with the code
 * XEMS_FRESH_AUTH_REQUIRED) shows the password prompt; its submit retries.
 */
async function changeEmail() {
  const r = await api('POST', '/api/account/email', formValues($('email-form')));
  if (r.status === 401 && r.data && r.data.code === 'XEMS_FRESH_AUTH_REQUIRED') {
    $('reauth-form').hidden = false;
    $('reauth-form').elements.password.focus();
    return say('Please re-enter your password to change the e-mail address.');
  }
  if (!r.ok) return say(errorText(r), true);
  $('email-form').reset();
  say(`E-mail changed to ${r.data.user.email}.`);
  await refresh();
}

/** Wraps an event handler: a network failure becomes a message instead of a silent rejection. */
function handler(fn) {
  return (event) => {
    Promise.resolve(fn(event)).catch((err) => say(`Request failed: ${err.message || err}`, true));
  };
}

function wire() {
  $('register-form').addEventListener(
    'submit',
    handler(async (event) => {
      event.preventDefault();
      const r = await api('POST', '/api/register', formValues(event.target));
      if (r.ok) {
        say(`Account created for ${r.data.email}. Now log in.`);
        $('login-form').elements.email.value = r.data.email;
        event.target.reset();
      } else say(errorText(r), true);
    }),
  );

  $('login-form').addEventListener(
    'submit',
    handler(async (event) => {
      event.preventDefault();
      const r = await api('POST', '/api/login', formValues(event.target));
      if (!r.ok) return say(errorText(r), true);
      $('otp-code').textContent = r.data.demoCode;
      $('otp-form').hidden = false;
      $('otp-form').elements.code.focus();
      say(`Code sent (valid until ${new Date(r.data.expiresAt).toLocaleTimeString()}).`);
    }),
  );

  $('otp-form').addEventListener(
    'submit',
    handler(async (event) => {
      event.preventDefault();
      const r = await api('POST', '/api/login/verify', formValues(event.target));
      if (!r.ok) return say(errorText(r), true);
      event.target.reset();
      say(`Welcome, ${r.data.user.name}.`);
      await refresh();
    }),
  );

  $('refresh').addEventListener(
    'click',
    handler(() => refresh()),
  );

  $('burst').addEventListener(
    'click',
    handler(async () => {
      const results = await Promise.all(Array.from({ length: 30 }, () => api('GET', '/api/me')));
      const ok = results.filter((r) => r.ok).length;
      say(`${ok} of 30 parallel requests succeeded.`, ok !== 30);
      await refresh();
    }),
  );

  $('logout').addEventListener(
    'click',
    handler(async () => {
      await api('POST', '/api/logout');
      say('Logged out.');
      await refresh();
    }),
  );

  $('email-form').addEventListener(
    'submit',
    handler(async (event) => {
      event.preventDefault();
      await changeEmail();
    }),
  );

  $('reauth-form').addEventListener(
    'submit',
    handler(async (event) => {
      event.preventDefault();
      const r = await api('POST', '/api/reauthenticate', formValues(event.target));
      event.target.reset();
      if (!r.ok) return say(errorText(r), true);
      event.target.hidden = true;
      await changeEmail();
    }),
  );

  $('logout-all').addEventListener(
    'click',
    handler(async () => {
      const r = await api('POST', '/api/logout-all');
      say(r.ok ? `Logged out everywhere (${r.data.revoked} sessions).` : errorText(r), !r.ok);
      await refresh();
    }),
  );
}

wire();
refresh().catch((err) => say(String(err), true));
