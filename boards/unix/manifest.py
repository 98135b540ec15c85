# Unix firmware: our package only (the stock unix manifest needs micropython-lib).
include("../manifest_tinyml.py")
