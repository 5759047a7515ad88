"""How results are judged: image quality (KID, FID, PRDC, TSTR), tables, reconstruction and membership
attacks, and the artefacts (sample grids, partition reports) a run leaves for people to look at."""
