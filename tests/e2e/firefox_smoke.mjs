// Drives Debian's Firefox ESR over WebDriver BiDi (puppeteer-core, no browser download): loads
// the page, waits for window.classifier.ready and the module loads after it, classifies the
// given images through it and records every request the page makes while classifying. Reads
// {url, firefox, images: [{name, b64}]} as JSON on stdin; writes {info, readyMs, results,
// requestsWhileClassifying} as JSON on stdout.
import puppeteer from "puppeteer-core";

const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => { text += chunk; });
  process.stdin.on("end", () => resolve(text));
}));

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: input.firefox,
  headless: true,
  protocol: "webDriverBiDi",
  // A fresh profile that never phones home: no updates, telemetry or remote settings.
  extraPrefsFirefox: {
    "app.update.enabled": false,
    "datareporting.policy.dataSubmissionEnabled": false,
    "toolkit.telemetry.enabled": false,
    "browser.safebrowsing.malware.enabled": false,
    "browser.safebrowsing.phishing.enabled": false,
    "network.captive-portal-service.enabled": false,
  },
});
try {
  const page = await browser.newPage();
  const requests = [];
  let classifying = false;
  page.on("request", (request) => { if (classifying) requests.push(`${request.method()} ${request.url()}`); });
  const started = Date.now();
  await page.goto(input.url, { waitUntil: "load" });
  const info = await page.evaluate(() => window.classifier.ready.then(({ backend, version, tfjs }) => ({ backend, version, tfjs })));
  const readyMs = Date.now() - started;
  // After ready the worker fetches its scan, DICOM and explanation modules in the background:
  // loading, not classifying, so wait for it to end.
  await page.waitForNetworkIdle({ idleTime: 1000, timeout: 60000 });
  classifying = true;
  const results = [];
  for (const { name, b64 } of input.images) {
    results.push(await page.evaluate(async (data, fileName) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const { label, probabilities, tumorProbability, level } = await window.classifier.classify(new File([bytes], fileName));
      return { name: fileName, label, probabilities, tumorProbability, level };
    }, b64, name));
  }
  await new Promise((resolve) => { setTimeout(resolve, 500); }); // late requests show up
  classifying = false;
  process.stdout.write(JSON.stringify({ info, readyMs, results, requestsWhileClassifying: requests }));
} finally {
  await browser.close();
}
