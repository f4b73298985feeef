#include "cli.h"

int main(int argc, char **argv)
{
    return dp_cli_main(argc, argv);
}
