"""Hardware security modules and tokens reached through PKCS#11 (issue 16)."""
