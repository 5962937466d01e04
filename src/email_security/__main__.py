from email_security.cli import main

main()
