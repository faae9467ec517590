// Opens Baton's dashboard in headless Chromium (Debian's package) like a person would: signs in
// with the admin token, waits for the figures, reads what the page shows, opens the first
// at-risk or breached lead's routing audit, and keeps a screenshot.
//
// Usage: node dashboard.mjs BASE_URL ADMIN_TOKEN SCREENSHOT_PATH
// Prints one JSON object: what the page shows. Exits non-zero when the page cannot be driven.
import { chromium } from "playwright-core";

const [base, token, screenshot] = process.argv.slice(2);
if (!base || !token || !screenshot) {
  console.error("usage: node dashboard.mjs BASE_URL ADMIN_TOKEN SCREENSHOT_PATH");
  process.exit(2);
}
const executablePath = process.env.BATON_CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("response", (r) => { if (r.status() >= 400 && !r.url().endsWith("/admin/session")) errors.push(`${r.status()} ${r.url()}`); });
  await page.goto(`${base}/admin/dashboard`);
  const signIn = await page.locator("input[name=token]").count();
  await page.fill("input[name=token]", token);
  await Promise.all([page.waitForURL(`${base}/admin/dashboard`), page.click("button[type=submit]")]);
  await page.waitForSelector("body[data-loaded=true]", { timeout: 15000 });
  const text = async (selector) => (await page.locator(selector).first().textContent())?.trim() ?? null;
  const rows = async (selector) => page.$$eval(selector, (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent.trim())));
  const shown = {
    signInForm: signIn === 1,
    ttft: await text("#ttft"),
    ttftParts: await text("#ttft-parts"),
    sla: await text("#sla"),
    slaParts: await text("#sla-parts"),
    pastDue: await text("#past-due"),
    atRisk: await text("#at-risk"),
    leads: await text("#leads"),
    rates: await text("#rates"),
    curve: await rows("#curve-table tbody tr"),
    curveBars: await page.locator("#curve rect").count(),
    chartPoints: await page.locator("#ttft-chart circle").count(),
    bySource: await rows("#by-source tbody tr"),
    byOwner: await rows("#by-owner tbody tr"),
    open: await rows("#open tbody tr"),
    status: await text("#status"),
  };
  const first = page.locator("#open tbody tr.clickable").first();
  if (await first.count()) {
    shown.openedLead = await first.getAttribute("data-lead");
    await first.click();
    await page.waitForSelector("[data-testid=audit-owner]", { timeout: 10000 });
    shown.auditOwner = await text("[data-testid=audit-owner]");
    shown.auditRule = await text("[data-testid=audit-rule]");
  }
  await page.screenshot({ path: screenshot, fullPage: true });
  shown.errors = errors;
  console.log(JSON.stringify(shown));
} finally {
  await browser.close();
}
