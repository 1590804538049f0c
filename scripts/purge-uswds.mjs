// Cuts the U.S. Web Design System stylesheet down to the selectors Heard's pages can use, so a hosted survey page
// costs a phone tens of kilobytes instead of half a megabyte. Reads the full stylesheet from the npm package
// (pinned in package.json) and writes crates/heard-server/assets/uswds/css/uswds.min.css.
//
// Run from the repository root after `npm ci`, whenever templates, scripts or the USWDS version change (the
// `every_usa_class_in_the_templates_is_in_the_stylesheet` test in heard-server says when a class is missing):
//   node scripts/purge-uswds.mjs
// (scripts/vendor-uswds.sh runs it too). PurgeCSS keeps every selector whose class names occur as words in the
// templates, Heard's own scripts or the server's Rust sources; class names built inside templates are listed in
// `safelist` below.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { PurgeCSS } = await import(process.env.PURGECSS_MODULE || "purgecss");
const server = join(root, "crates/heard-server");
const full = readFileSync(join(root, "node_modules/@uswds/uswds/dist/css/uswds.min.css"), "utf8");

/** Every file under `dir` whose name ends with `ext`, as PurgeCSS raw content. */
function files(dir, ext) {
  return readdirSync(dir, { recursive: true })
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => ({ raw: readFileSync(join(dir, f), "utf8"), extension: ext.slice(1) }));
}

const [result] = await new PurgeCSS().purge({
  content: [
    ...files(`${server}/templates`, ".html"),
    ...files(`${server}/assets/heard`, ".js"),
    ...files(`${server}/src`, ".rs"),
  ],
  css: [{ raw: full }],
  // USWDS's responsive utilities carry the breakpoint in the class name (`tablet:grid-col-3`), so a word may hold
  // a colon.
  defaultExtractor: (content) => content.match(/[A-Za-z0-9_:-]+/g) || [],
  safelist: {
    // survey.html builds `usa-{{ input_type }}` for radio buttons and checkboxes.
    standard: [/^usa-(radio|checkbox)/],
    deep: [],
    greedy: [],
  },
  fontFace: true,
  keyframes: true,
  variables: false,
});
const out = join(server, "assets/uswds/css/uswds.min.css");
writeFileSync(out, result.css.replace(/\n+/g, "\n"));
console.log(`purge-uswds: ${full.length} -> ${result.css.length} bytes in ${out.slice(root.length + 1)}`);
