/**
 * The Chromium the browser suites drive with puppeteer-core: where it is, and whether this
 * machine has it. A suite without it is ignored with a line saying so, which `.ci/run` refuses
 * (it installs Chromium first and fails on any ignored test).
 */

/** Debian's Chromium (`apt-get install -y chromium`). */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether {@link CHROMIUM} is here; prints that `suite`'s tests are skipped when it is not. */
export function chromiumFor(suite: string): boolean {
  let present = false;
  try {
    present = Deno.statSync(CHROMIUM).isFile;
  } catch {
    present = false;
  }
  if (!present) {
    console.log(
      `${suite} browser tests SKIPPED: no Chromium at ${CHROMIUM} (install it: apt-get install -y chromium)`,
    );
  }
  return present;
}
