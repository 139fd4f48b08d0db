from vagent.cli import main

main()
