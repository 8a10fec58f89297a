import type { Express, Response } from "express";
import { STATUS_PAGE_HTML } from "./page-html.js";
import { STATUS_PAGE_SCRIPT } from "./page-script.js";
import { STATUS_PAGE_CSS } from "./page-style.js";

/**
 * Only this origin's script, style and stream: an injected string could not run a
 * script even if one slipped past textContent, and the page cannot be framed.
 */
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * GET /, /status-page.js, /status-page.css: the live status page, served from text built
 * into the program (no files to find at run time, nothing for a user to build). The data
 * comes from GET /v1/events.
 */
export function registerStatusPage(app: Express): void {
  const serve = (path: string, type: string, text: string): void => {
    app.get(path, (_req, res: Response) => {
      res.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
      res.setHeader("X-Content-Type-Options", "nosniff");
      res.setHeader("Cache-Control", "no-cache");
      res.type(type).send(text);
    });
  };
  serve("/", "text/html; charset=utf-8", STATUS_PAGE_HTML);
  serve("/status-page.js", "text/javascript; charset=utf-8", STATUS_PAGE_SCRIPT);
  serve("/status-page.css", "text/css; charset=utf-8", STATUS_PAGE_CSS);
}
