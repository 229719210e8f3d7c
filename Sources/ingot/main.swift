// ingot: the command-line front end; all logic lives in IngotCLI.
import IngotCLI
IngotCommand.main()
