import KlingKitCLI

await KlingKitMain.run()
