/** The version chorus reports to clients (INFO) and on --version. Kept equal to package.json's by a test. */
export const VERSION = '0.1.0';
