import sys

from labs.make.notebook import main

sys.exit(main())
