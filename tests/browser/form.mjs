// Drives baton-local's sample form (/sample, with the snippet) in headless Chromium (Debian's
// package) as a visitor would, and the snippet on a page whose Baton is down.
//
// Usage: node form.mjs BASE_URL SNIPPET_PATH ARTIFACT_DIR
// Prints one JSON object, a member per scenario:
// - handoff: arrives from a paid search ad, comes back from a LinkedIn post, fills the form and
//   submits; the panel's owner and booking link, and the milliseconds from submit to the panel
//   (five submissions, each from a fresh page), then presses the booking link.
// - fieldError: a malformed email; what the page shows next to which field.
// - doubleSubmit: a double click and an Enter on the submit button; the POSTs sent and leads told.
// - fallback: a rep without a booking link; the page's team calendar instead.
// - dnt: Do Not Track on; what the site's storage holds afterwards.
// - plainPost: a browser without fetch; Baton's answer to the plain form post.
// - batonDown: the snippet pointed at a closed port; what the page's own form handler received.
// - noAction: the same for a form with no action (it posts to its own page).
// - hostHandles: a page whose own script handles the submit; the snippet never submits it.
// - unplaced: a 400 about no field of the form; the form's own submission goes ahead.
// The sample page is served from a site of its own origin, so every call to Baton is cross-origin.
// Exits non-zero when the page cannot be driven.
import { chromium } from "playwright-core";
import http from "node:http";
import fs from "node:fs";

const [base, snippetPath, artifacts] = process.argv.slice(2);
if (!base || !snippetPath || !artifacts) {
  console.error("usage: node form.mjs BASE_URL SNIPPET_PATH ARTIFACT_DIR");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.BATON_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const run = Date.now().toString(36);
const result = {};

// The site: its own origin, serving Baton's sample page (with the snippet from Baton's origin,
// so every call is cross-origin, as on a customer's site) and pages of its own.
const received = [];
const samplePage = (await (await fetch(`${base}/sample`)).text()).replace('src="/baton.js"', `src="${base}/baton.js"`);
const down = "http://127.0.0.1:9";
const pages = {
  "/sample": samplePage,
  "/contact": `<!doctype html><title>Contact</title>
    <form data-baton action="/thanks" method="post">
      <input name="email"><input name="first_name"><button type="submit" name="plan" value="pro">Send</button>
    </form>
    <script src="/baton.js" data-baton-key="pk_local_demo" data-baton-endpoint="${down}"></script>`,
  "/noaction": `<!doctype html><title>No action</title>
    <form data-baton method="post"><input name="email"><button type="submit">Send</button></form>
    <script src="/baton.js" data-baton-key="pk_local_demo" data-baton-endpoint="${down}"></script>`,
  "/spa": `<!doctype html><title>Single page</title>
    <form data-baton action="/never" method="post"><input name="email"><button type="submit">Send</button></form>
    <p id="done"></p>
    <script>
      document.querySelector("form").addEventListener("submit", (e) => {
        e.preventDefault();
        fetch("/api/contact", { method: "POST", body: new FormData(e.target) }).then(() => { document.getElementById("done").textContent = "sent by the page"; });
      });
    </script>
    <script src="/baton.js" data-baton-key="pk_local_demo" data-baton-endpoint="${down}"></script>`,
  "/unplaced": `<!doctype html><title>Unplaced error</title>
    <form data-baton action="/thanks" method="post"><input name="email"><button type="submit">Send</button></form>
    <script src="${base}/baton.js" data-baton-key="pk_local_demo" data-baton-form-id="${"x".repeat(300)}"></script>`,
};
const site = http.createServer((req, res) => {
  const path = req.url.split("?")[0];
  if (path === "/baton.js") {
    res.writeHead(200, { "content-type": "text/javascript" });
    return res.end(fs.readFileSync(snippetPath));
  }
  if (req.method === "POST") {
    let body = "";
    req.on("data", (c) => (body += c));
    return req.on("end", () => {
      received.push({ path, type: req.headers["content-type"], body });
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<title>Thanks</title><h1>Thanks from the site itself</h1>");
    });
  }
  res.writeHead(pages[path] ? 200 : 404, { "content-type": "text/html" });
  res.end(pages[path] || "not found");
});
await new Promise((r) => site.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${site.address().port}`;
const fields = (entry) => (entry.type || "").startsWith("multipart/") ? { multipart: true, raw: entry.body } : Object.fromEntries(new URLSearchParams(entry.body));

// Every page: script errors are collected, and the outside world (the booking pages) answers
// from here, so pressing a link never waits on the internet.
async function newPage(context) {
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(String(e)));
  await context.route("https://cal.example.com/**", (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<title>booking</title>booked" }));
  return page;
}

async function fill(page, person) {
  await page.fill("input[name=first_name]", person.first);
  await page.fill("input[name=last_name]", person.last);
  await page.fill("input[name=email]", person.email);
  await page.fill("input[name=company]", "Lovelace Labs");
  await page.fill("input[name=job_title]", "Head of Research");
  await page.selectOption("select[name=country]", person.country || "US");
  await page.fill("input[name=employee_count]", "800");
  await page.selectOption("select[name=product_interest]", "platform");
  if (person.consent !== false) await page.check("input[name=consent]");
}

// Times submit → the panel naming the owner, inside the page (no driver overhead).
async function watchTimes(page) {
  await page.evaluate(() => {
    const form = document.querySelector("form[data-baton]");
    window.__times = {};
    window.__leads = [];
    document.addEventListener("submit", () => { window.__times.submit ??= performance.now(); }, true);
    form.addEventListener("baton:captured", (e) => window.__leads.push(e.detail.lead_id));
    form.addEventListener("baton:handoff", () => { window.__times.panel = performance.now(); });
    form.addEventListener("baton:fallback", () => { window.__times.fallback = performance.now(); });
  });
}

try {
  // 1. The happy path, five times: first touch from search, last touch from LinkedIn.
  {
    const context = await browser.newContext({ viewport: { width: 900, height: 1200 } });
    const page = await newPage(context);
    await page.goto(`${origin}/sample?utm_source=google&utm_medium=cpc&utm_campaign=brand-search`, { referer: "https://www.google.com/" });
    const submissions = [];
    for (let i = 0; i < 5; i++) {
      await page.goto(`${origin}/sample?utm_source=linkedin&utm_medium=social&utm_campaign=q4-launch&utm_content=post-${i}`);
      await watchTimes(page);
      await fill(page, { first: "Ada", last: `Lovelace ${i}`, email: `ada.${run}.${i}@lovelace-labs.example` });
      await page.click("button[type=submit]");
      await page.waitForSelector(".baton-panel[data-state]", { timeout: 20000 });
      const shown = await page.evaluate(() => {
        const p = document.querySelector(".baton-panel");
        const a = p.querySelector("a.baton-book");
        return {
          state: p.getAttribute("data-state"),
          title: p.querySelector(".baton-panel-title").textContent,
          text: p.textContent.replace(/\s+/g, " ").trim(),
          booking: a ? a.href : null,
          formHidden: document.querySelector("form[data-baton]").hidden,
          leads: window.__leads,
          ms: window.__times.panel - window.__times.submit,
        };
      });
      submissions.push(shown);
    }
    await page.screenshot({ path: `${artifacts}/form-handoff.png`, fullPage: true });
    // Pressing the booking link: the beacon goes to the handoff link, the page opens in a tab.
    const beacon = context.waitForEvent("request", { predicate: (r) => r.url().endsWith("/booking") && r.method() === "POST", timeout: 10000 });
    const popup = page.waitForEvent("popup", { timeout: 10000 });
    await page.click("a.baton-book");
    const [sent, tab] = await Promise.all([beacon, popup]);
    const beaconAnswer = await sent.response().then((r) => (r ? r.status() : null), () => null);
    await tab.close();
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem("baton:attribution")));
    result.handoff = { origin, submissions, bookingPressed: sent.url(), beaconAnswer, stored, errors: page.errors };
    await context.close();
  }

  // 2. A field error is shown next to its field, and the form stays.
  {
    const context = await browser.newContext();
    const page = await newPage(context);
    await page.goto(`${base}/sample`);
    await watchTimes(page);
    await fill(page, { first: "Bad", last: "Email", email: "ada@", consent: false });
    const answer = page.waitForResponse((r) => r.url().endsWith("/leads") && r.request().method() === "POST");
    await page.click("button[type=submit]");
    const status = (await answer).status();
    await page.waitForSelector(".baton-error", { timeout: 10000 });
    result.fieldError = await page.evaluate(() => {
      const e = document.querySelector(".baton-error");
      const before = e.previousElementSibling;
      return {
        status: null,
        field: e.getAttribute("data-field"),
        message: e.textContent,
        after: before ? before.getAttribute("name") : null,
        describedBy: document.querySelector("input[name=email]").getAttribute("aria-describedby") === e.id,
        invalid: document.querySelector("input[name=email]").getAttribute("aria-invalid"),
        formVisible: !document.querySelector("form[data-baton]").hidden,
        panel: !!document.querySelector(".baton-panel"),
        leads: window.__leads,
      };
    });
    result.fieldError.status = status;
    await page.screenshot({ path: `${artifacts}/form-field-error.png`, fullPage: true });
    result.fieldError.errors = page.errors;
    await context.close();
  }

  // 3. A double click and an Enter: one submission.
  {
    const context = await browser.newContext();
    const page = await newPage(context);
    await page.goto(`${base}/sample?utm_source=newsletter`);
    await watchTimes(page);
    const posts = [];
    page.on("request", (r) => { if (r.url().endsWith("/leads") && r.method() === "POST") posts.push(r.headers()["idempotency-key"]); });
    await fill(page, { first: "Grace", last: "Hopper", email: `grace.${run}@lovelace-labs.example` });
    // Two clicks and a programmatic submit in the same moment, as a double click and Enter give.
    await page.evaluate(() => {
      const form = document.querySelector("form[data-baton]");
      const button = form.querySelector("button[type=submit]");
      button.click();
      button.click();
      form.requestSubmit();
    });
    await page.waitForSelector(".baton-panel[data-state]", { timeout: 20000 });
    result.doubleSubmit = { posts, leads: await page.evaluate(() => window.__leads), errors: page.errors };
    await context.close();
  }

  // 4. A rep without a booking link (Europe's): the page's configured team calendar instead.
  {
    const context = await browser.newContext();
    const page = await newPage(context);
    await page.goto(`${base}/sample`);
    await watchTimes(page);
    await fill(page, { first: "Emmy", last: "Noether", email: `emmy.${run}@lovelace-labs.example`, country: "DE" });
    await page.click("button[type=submit]");
    await page.waitForSelector(".baton-panel[data-state]", { timeout: 20000 });
    result.fallback = await page.evaluate(() => {
      const p = document.querySelector(".baton-panel");
      const a = p.querySelector("a");
      return { state: p.getAttribute("data-state"), title: p.querySelector(".baton-panel-title").textContent,
        text: p.textContent.replace(/\s+/g, " ").trim(), link: a ? a.href : null, leads: window.__leads };
    });
    result.fallback.errors = page.errors;
    await context.close();
  }

  // 5. Do Not Track: nothing stored, no first touch; the page's own UTMs still go with the lead.
  {
    const context = await browser.newContext();
    await context.addInitScript(() => Object.defineProperty(Navigator.prototype, "doNotTrack", { get: () => "1" }));
    const page = await newPage(context);
    await page.goto(`${base}/sample?utm_source=google&utm_medium=cpc`, { referer: "https://www.google.com/" });
    await page.goto(`${base}/sample?utm_source=partner-site`);
    await watchTimes(page);
    await fill(page, { first: "Dee", last: "Entee", email: `dnt.${run}@lovelace-labs.example` });
    await page.click("button[type=submit]");
    await page.waitForSelector(".baton-panel[data-state]", { timeout: 20000 });
    result.dnt = await page.evaluate(() => ({
      local: Object.keys(localStorage), session: Object.keys(sessionStorage), leads: window.__leads,
    }));
    result.dnt.errors = page.errors;
    await context.close();
  }

  // 6. No fetch in this browser: the form is posted to Baton as a plain HTML form.
  {
    const context = await browser.newContext();
    await context.addInitScript(() => { delete window.fetch; });
    const page = await newPage(context);
    await page.goto(`${base}/sample?utm_campaign=plain-post`);
    await fill(page, { first: "Plain", last: "Post", email: `plain.${run}@lovelace-labs.example` });
    await Promise.all([page.waitForURL("**/leads", { timeout: 20000 }), page.click("button[type=submit]")]);
    result.plainPost = { answer: JSON.parse(await page.textContent("body")), errors: page.errors };
    await context.close();
  }

  // 7. Baton is down: the page's own handler gets the form, with the pressed button.
  {
    const context = await browser.newContext();
    const page = await newPage(context);
    await page.goto(`${origin}/contact`);
    await page.fill("input[name=email]", `down.${run}@lovelace-labs.example`);
    await page.fill("input[name=first_name]", "Down");
    await Promise.all([page.waitForURL("**/thanks", { timeout: 20000 }), page.click("button[type=submit]")]);
    result.batonDown = { received: received.filter((r) => r.path === "/thanks").map(fields), heading: await page.textContent("h1"), errors: page.errors };
    await context.close();
  }

  // 8. Baton is down and the form has no action: it posts to its own page, as without the snippet.
  {
    const context = await browser.newContext();
    const page = await newPage(context);
    await page.goto(`${origin}/noaction`);
    await page.fill("input[name=email]", `noaction.${run}@lovelace-labs.example`);
    await Promise.all([page.waitForURL("**/noaction", { waitUntil: "load", timeout: 20000 }), page.click("button[type=submit]")]);
    await page.waitForSelector("h1");
    result.noAction = { received: received.filter((r) => r.path === "/noaction").map(fields), errors: page.errors };
    await context.close();
  }

  // 9. The page's own script handles the submit, and Baton is down: the snippet stays out of it.
  {
    const context = await browser.newContext();
    const page = await newPage(context);
    await page.goto(`${origin}/spa`);
    await page.fill("input[name=email]", `spa.${run}@lovelace-labs.example`);
    await page.evaluate(() => {
      window.__unreachable = new Promise((r) => document.querySelector("form").addEventListener("baton:unreachable", r));
    });
    await page.click("button[type=submit]");
    await page.evaluate(() => window.__unreachable);
    await page.waitForFunction(() => document.getElementById("done").textContent !== "", null, { timeout: 10000 });
    result.hostHandles = {
      url: page.url(),
      posts: received.filter((r) => r.path === "/api/contact" || r.path === "/never").map((r) => r.path),
      errors: page.errors,
    };
    await context.close();
  }

  // 10. A 400 about no field of the form: the form's own submission goes ahead.
  {
    const context = await browser.newContext();
    const page = await newPage(context);
    await page.goto(`${origin}/unplaced`);
    await page.fill("input[name=email]", `unplaced.${run}@lovelace-labs.example`);
    const before = received.filter((r) => r.path === "/thanks").length;
    const answer = page.waitForResponse((r) => r.url().endsWith("/leads") && r.request().method() === "POST");
    await Promise.all([page.waitForURL("**/thanks", { timeout: 20000 }), page.click("button[type=submit]")]);
    const refused = await answer;
    result.unplaced = { status: refused.status(), errors: page.errors, received: received.filter((r) => r.path === "/thanks").length - before };
    await context.close();
  }
  result.run = run;
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
  site.close();
}
