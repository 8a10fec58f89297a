/** Where ShiViz runs and how to open a file in it: said by `kvraft trace merge --help` and after `kvraft sim --shiviz`. */
export const SHIVIZ_URL = "https://bestchai.bitbucket.io/shiviz/";

export const SHIVIZ_OPEN_STEPS = `To look at it: open ${SHIVIZ_URL} in a browser, click
"Try out ShiViz", and upload the file. Its first line is the parser regex and its
second the (empty) execution delimiter, so ShiViz needs no other settings.`;
