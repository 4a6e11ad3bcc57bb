// Drives a SMART standalone launch of samples/smart-app in headless Chromium (playwright-core) and prints what the
// page shows as JSON on stdout. Used by StandaloneLaunchTests; runnable by hand:
//   node standalone-launch.mjs --app http://localhost:8000 --iss http://localhost:5000/fhir --user aaron --password aaron-demo
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, value, i, all) =>
  value.startsWith("--") ? [...pairs, [value.slice(2), all[i + 1]]] : pairs, []));
const appDir = args["app-dir"];
const require = createRequire(join(appDir, "package.json"));
const { chromium } = require("playwright-core");

const timeout = Number(args.timeout || 60000);
const profile = mkdtempSync(join(tmpdir(), "fhirrecovery-chromium-"));
const steps = [];
let browser;
try {
  // On a closed network Chromium's background connections hang: switch them off, and use a fresh profile
  // (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: args.chromium || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
    timeout,
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(timeout);
  const consoleLines = [];
  page.on("console", message => consoleLines.push(`${message.type()}: ${message.text()}`));

  await page.goto(`${args.app}/launch.html?iss=${encodeURIComponent(args.iss)}`);

  // 1. The authorization server's login page.
  await page.waitForSelector("#login-form");
  steps.push({ step: "login", url: page.url() });
  await page.fill("#username", args.user);
  await page.fill("#password", args.password);
  await Promise.all([page.waitForNavigation(), page.click("#login")]);

  // 2. Consent with the patient picker.
  await page.waitForSelector("#consent-form");
  const choices = await page.$$eval("input[name=smart_patient]", inputs => inputs.map(i => i.value));
  const scopes = await page.$$eval("#scopes li", items => items.map(i => i.textContent));
  steps.push({ step: "consent", url: page.url(), patients: choices, scopes });
  if (args.patient) {
    await page.check(`input[name=smart_patient][value="${args.patient}"]`);
  }
  await Promise.all([page.waitForNavigation(), page.click("#allow")]);

  // 3. Back in the app (redirect with the code, token exchange, FHIR reads): wait for the rendered goals.
  await page.waitForSelector("#goals[data-state=ready], #goals[data-state=error]");
  steps.push({ step: "app", url: page.url().split("?")[0] });
  if (args.screenshot) {
    await page.screenshot({ path: args.screenshot, fullPage: true });
  }

  const shown = await page.evaluate(() => ({
    state: document.getElementById("goals").dataset.state,
    error: document.getElementById("error").hidden ? null : document.getElementById("error").textContent,
    patient: document.getElementById("patient").textContent,
    domains: [...document.querySelectorAll("section.domain")].map(section => ({
      code: section.dataset.domain,
      title: section.querySelector("h2").firstChild.textContent.trim(),
      goals: [...section.querySelectorAll("li.goal")].map(goal => ({
        id: goal.dataset.goalId,
        text: goal.querySelector(".goal-text").textContent,
        lifecycle: goal.dataset.lifecycle,
        achievement: goal.querySelector(".achievement").textContent,
        gas: goal.querySelector(".progress") ? Number(goal.querySelector(".progress").dataset.gas) : null,
        progress: goal.querySelector("progress") ? Number(goal.querySelector("progress").value) : null,
      })),
    })),
  }));
  console.log(JSON.stringify({ ok: true, steps, shown, console: consoleLines }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, steps, error: String(error && error.stack || error) }));
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
