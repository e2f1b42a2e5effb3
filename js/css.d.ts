// esbuild bundles `import "./widget.css"` into the sibling widget.css; tsc only needs to know it exists.
declare module "*.css";
