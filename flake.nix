{
  description = "verifieddit server: the OCI image verifieddit deploys (Scaleway Serverless Containers, run by Bun)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs = { self, nixpkgs }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};

      # The production artifact, built beforehand with `pnpm artifact` (bundle, package.json, PGlite):
      # the image build copies it in and fetches nothing. `.output/` is gitignored, so build with a
      # path reference, which sees untracked files:  pnpm artifact && nix build 'path:.#oci-image'
      artifact = builtins.path { path = ./.output; name = "verifieddit-server-artifact"; };

      server = pkgs.runCommand "verifieddit-server" { } ''
        mkdir -p $out/app
        cp -r ${artifact}/. $out/app/
      '';

      healthcheck = "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))";
    in
    {
      packages.${system} = {
        inherit server;

        oci-image = pkgs.dockerTools.buildLayeredImage {
          name = "verifieddit-server";
          tag = "latest";
          contents = [ pkgs.cacert ];
          config = {
            # Bun by its store path and the bundle by its store path: no shell, no shebang lookup.
            Entrypoint = [ "${pkgs.bun}/bin/bun" "${server}/app/index.js" ];
            WorkingDir = "${server}/app";
            User = "65532:65532";
            Env = [
              "NODE_ENV=production"
              "PORT=8080"
              "SSL_CERT_FILE=${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt"
            ];
            ExposedPorts = { "8080/tcp" = { }; };
            Healthcheck = {
              Test = [ "CMD" "${pkgs.bun}/bin/bun" "-e" healthcheck ];
              # Nanoseconds, as the image config format wants them.
              Interval = 10000000000;
              Timeout = 3000000000;
              StartPeriod = 30000000000;
              Retries = 3;
            };
          };
        };

        default = self.packages.${system}.oci-image;
      };
    };
}
