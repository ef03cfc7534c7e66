"""Python side of contract v2 (HCFLCore + linked modules + HCFLLens): typed views and a typed client."""
