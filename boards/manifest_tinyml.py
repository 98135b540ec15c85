# Freezes the tinyml package; every board's manifest.py includes this file.
# Paths in a manifest are relative to the manifest's own folder.
package("tinyml", base_path="../python_lib")
