import sys

from addnn.cli import main

sys.exit(main())
